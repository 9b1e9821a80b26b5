"""The staff adoption dashboard (issue #18 §4): card issuance nationally and in the city by age band and sex, the
deck's observations computed from the table, AnchorID's own adoption (k-anonymous counts read from the idp) as a
share of the city's population, week by week, and where to act. docs/city.md ("Adoption dashboard")."""
