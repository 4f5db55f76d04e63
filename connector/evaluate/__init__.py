"""Evaluate and improve a scoring model against who actually became a customer.

``dataset`` builds the backtest (score as of a past date, outcome after it) from state,
``metrics`` measures a model on it, ``learn`` fits transparent weights and exports them as
an ordinary rules file, ``html`` renders the whole comparison as one offline page.
"""
