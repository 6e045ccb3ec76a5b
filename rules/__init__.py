"""Pure decision logic: the YAML rules language, its compiler and its engines.

Reading order: :mod:`rules.ir` (the compiled form and the normative semantics),
:mod:`rules.engine` (the engine interface and :class:`~rules.engine.Decision`),
:mod:`rules.load` (rules file -> validated Ruleset), :mod:`rules.pyengine` (generated Python engine,
explanations), :mod:`rules.durable_engine` (durable-rules engine), :mod:`rules.mapping` (canonical
stage <-> CRM values), :mod:`rules.casefile` (admin rule tests), :mod:`rules.generate` (seeded
test records). Nothing here imports durable-rules except :mod:`rules.durable_engine`.
"""
