"""The catalogue in and out of other tools: the 实施清单 spreadsheet (xlsx, CSV) and BPMN 2.0 diagrams.

Other engines read the BPMN; counties and provinces exchange the spreadsheets.
"""
