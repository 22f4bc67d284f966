"""Callback endpoints for web frameworks: ``integrations.fastapi`` and ``integrations.aiohttp``.

Each lives behind its extra (``pip install "cryptopay-async[fastapi]"`` or ``[aiohttp]``)
and only adapts ``cryptopay_async.callbacks.CallbackReceiver`` to the framework.
"""
