"""Public facility booking for the city's residents (issue #7): facilities and slots, first-come bookings that
are tentative until paid, fees and group reductions, booking windows, refunds by tiers, penalty points, payments
through a provider interface, receipts. The database decides who gets a slot (docs/booking.md)."""
