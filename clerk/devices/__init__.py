"""Devices and the OS: the printer (CUPS or a folder of PDFs), the announcer (espeak-ng), the card
reader. They receive plain data and never open database sessions.
"""
