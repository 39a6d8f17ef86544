"""The demand model: latent class analysis on Spark, model selection, baselines, labelling and MLflow tracking.

``LatentClassAnalysis`` and ``LatentClassModel`` are imported lazily so that the Spark-free parts (the MLflow pyfunc,
the numpy EM core) load without importing pyspark.
"""
__all__ = ["LatentClassAnalysis", "LatentClassModel"]


def __getattr__(name):
    if name in __all__:
        from csc_demand.model import lca
        return getattr(lca, name)
    raise AttributeError(f"module 'csc_demand.model' has no attribute {name!r}")
