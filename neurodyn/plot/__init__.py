"""matplotlib figures; every function takes `ax=` and returns the Axes it drew on."""

from ._training import plot_loss as plot_loss, plot_psychometric as plot_psychometric
