"""The city's resident portal and services (relying party). Built in issue #4 onwards."""
