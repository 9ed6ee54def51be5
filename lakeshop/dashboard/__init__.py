"""`lakeshop dashboard`: the Streamlit dashboard over the gold marts (app.py, its pages),
what it reads (data.py) and the process (service.py)."""
