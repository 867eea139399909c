"""The people of the directory.

- `person`: a person's fields, the rules every entry point applies (POST, PATCH, the CSV import), age inference.
- `store`: SQL for the people table.
"""
