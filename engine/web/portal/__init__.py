"""The applicant's pages: applying for an item or a chain (apply: the handlers; application: what is
applied for; pages: how each page is rendered; materials: the files sent; form_view: the form made
from the item's YAML), the progress pages of a case (progress, with grants: which cases a browser
may see), filing and following a request or complaint (appeals), and what every page reads from the
browser (browser)."""
