"""The evaluation lab: the app's one evaluation engine, used by the grid, ``workbench eval``,
the experiments and the tests.

- ``validation``: an assertion's value checked before anything is generated
- ``checks``: deterministic assertions (contains, regex, JSON Schema, ROUGE-L, latency, …)
- ``judge``: model-graded assertions, the judge's answer forced into JSON by a grammar
- ``suite_file``: suites in promptfoo's YAML layout, read (with line numbers) and written
- ``statistics``: Wilson intervals, paired tests, Bradley–Terry ranking, judge agreement
- ``runner``: a suite run end to end (generate, repeat, check, judge, store)
- ``report``: what a stored run says: pass rates, comparisons, ranking, history
"""
