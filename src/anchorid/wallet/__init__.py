"""The resident's wallet holding the derived device key. Built in issue #3."""
