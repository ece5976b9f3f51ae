"""PDF documents: tag slips, receipts and reports (reportlab; plain data in, bytes out).

Nothing here opens a database session: callers pass the data to print.
"""
