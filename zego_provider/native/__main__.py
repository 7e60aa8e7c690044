"""`python -m zego_provider.native ENGINE_ADDRESS`: serve the provider plugin."""

from .server import main

main()
