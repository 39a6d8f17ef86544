"""Helpers shared by tests and benchmarks (not shipped in the package): test configuration, simulated latent
class data, class matching, ranking comparison and hand-made silver rows."""
