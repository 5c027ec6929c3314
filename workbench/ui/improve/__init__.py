"""The window's *Improve…* dialog: a client of ``services.improve`` (ImproveService), which does
the search in its own background thread. Modules: ``improve_form`` (what to improve and how
much it may spend), ``improve_plot`` (pass rate against generations spent),
``candidates_table`` (every candidate with its lineage), ``evidence_view`` (the held-out
verdict and the start-vs-best diff as rich text), ``improve_dialog`` (the dialog: start,
cancel, resume, Use this version) and ``resume_offer`` (the window's offer to resume an
interrupted job when its session opens)."""
