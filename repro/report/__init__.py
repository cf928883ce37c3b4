"""Tables (pandas), plots (matplotlib) and the Markdown/HTML report."""
