"""What a client holds at run time: its settings (arguments and ``CRYPTOPAY_*``), the runtime
shared by ``with_options`` clients (pool, limiter, gates, chain) and raw responses.
"""
