"""The simulated national infrastructure (J-LIS and the city counter): its own Django server and database."""
