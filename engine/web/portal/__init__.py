"""The applicant's pages: the application pages of an item or a chain (apply), the form they are
made from (form_view), and the progress pages of a case (progress)."""
