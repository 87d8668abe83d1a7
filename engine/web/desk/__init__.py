"""The staff desk (工作台): the worklist and a case's page (cases), the chain applications waiting
for unified acceptance (chains), each role's links (nav) and the case page's words (words)."""
