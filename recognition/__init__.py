"""rather.recognition: fine-grained recognition data (synthetic birds with part ground truth) and audits."""
