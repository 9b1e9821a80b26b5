"""Staff pages of the city (facilities, slots, lottery runs, bookings, fees, reports) and the counter, where staff
register and book on behalf of residents who cannot use a smartphone. See docs/staff.md."""
