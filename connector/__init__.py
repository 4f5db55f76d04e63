"""connector: lead-scoring sync for HubSpot and ActiveCampaign."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("connector")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"
