"""The evaluation lab in the window: assertions, suites, the Evaluation tab."""
