"""rather.seismic: SEG-Y surveys, synthetic geology, fault and salt classifiers, section explanations."""
