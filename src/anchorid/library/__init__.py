"""The e-library (電子図書館, issue #16): a relying party of AnchorID run by its vendor for the city.

Residents register in one step with AnchorID (only ``resident_of`` is asked), search a catalogue that works for
Japanese, borrow e-books under publisher licence models, hold titles, and read them in the browser (foliate-js);
staff buy licences and see aggregates. See docs/library.md.
"""
