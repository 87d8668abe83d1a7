"""The staff side (工作台): who is signed in and how every staff page is guarded and rendered (staff),
signing in and out (login), the worklist and a case's page (cases) with what may be done to it
(actions) and its words (words), the chain applications waiting for unified acceptance (chains),
requests and complaints (appeals), and each role's links (nav). The supervision and admin pages
(engine.web.supervision, engine.web.admin) are staff pages guarded the same way."""
