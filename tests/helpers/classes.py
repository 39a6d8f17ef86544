"""Matching fitted latent classes to true ones."""
import numpy as np
from scipy.optimize import linear_sum_assignment


def matched(theta_hat: np.ndarray, theta_true: np.ndarray):
    """Class matching that minimises total absolute difference of profiles (Hungarian)."""
    cost = np.abs(theta_true[:, None, :] - theta_hat[None, :, :]).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return cols[np.argsort(rows)]
