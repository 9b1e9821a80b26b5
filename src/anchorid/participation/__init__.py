"""The participation platform (参加型合意形成, issue #15): processes with phases, proposals, debates, comments,
votes with ballot secrecy and a published, signed tally anyone can re-check; a relying party of AnchorID with its
own sector (docs/participation.md)."""
