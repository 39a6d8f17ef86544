"""csc-demand: demand analysis of England's children's social care records on Spark, Delta and MLflow."""
__version__ = "0.1.0"
