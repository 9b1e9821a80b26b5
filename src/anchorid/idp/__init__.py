"""The ID platform (private ID provider). Built in issue #3; its own Django server and database."""
