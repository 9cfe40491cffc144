"""Reporting to Nội vụ: the weekly digest and the six-month and annual reports (issue 5).

``periods`` says what a report covers, ``figures`` asks the database for the numbers,
``text``, ``chart``, ``workbook`` and ``document`` turn them into what people read, ``service``
builds and delivers a bundle of them (exactly once when scheduled), and ``demo`` fills a
database with synthetic cases for demonstrations and benchmarks.
"""
