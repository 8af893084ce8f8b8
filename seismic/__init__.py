"""rather.seismic: SEG-Y surveys, synthetic geology, fault and salt classifiers, section explanations.

One question, from the command to the gradient: ``rather seismic explain`` builds
``options.ExplainOptions`` and calls ``survey_explanation.explain_survey``, which opens
the survey (``survey.open_survey``), reads each line as a ``section.SeismicSection``
(time down the rows), explains it patch by patch (``lines.explain_line`` ->
``sections.explain_section``, patches from ``patches``, answers from
``rather.common.Explainer``), and writes the maps back, scaled for the whole run and NaN
where a question was not asked (``scaling``), as SEG-Y holding the explained traces
(``attributes.section_rows``), HDF5 (``sections.SectionStore``) and figures
(``figures``); on Dask, ``blocks`` explains the lines in resumable blocks.

Reading SEG-Y: ``headers`` (the file format, checked before segyio opens a file),
``geometry``, ``survey``, ``description``, ``attributes``; ``segy`` gathers their public
names. Data: ``synthetic`` (with ``survey_parameters``), ``landmass``, ``classes``.
The classifier: ``classifier`` (data curation, training, evaluation); ``character``
compares surveys.
"""
