"""rather.iqa: full-reference image-quality networks and score contrasts ("why 0.58, rather than 0.75?")."""
