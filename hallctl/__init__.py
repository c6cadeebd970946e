"""hallctl: the controller of a comprehensive-teller (综合柜员制) social-insurance service hall."""

__version__ = "0.1.0"
