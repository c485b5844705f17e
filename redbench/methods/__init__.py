"""The methods layer: the table of methods the suite knows (table.py)."""

from redbench.methods.table import MethodSpec, get_method, method_table

__all__ = ["MethodSpec", "get_method", "method_table"]
