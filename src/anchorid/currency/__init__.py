"""The local currency (地域通貨, issue 14): its own party (``anchorid serve currency``), a relying party of AnchorID
asking only ``resident_of`` (and ``age_over_65`` where a benefit needs it). See docs/currency.md."""
