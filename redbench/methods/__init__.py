"""The methods layer: what a method is (protocol.py), the one tracking loop (tracking.py), the table of
methods the suite knows (table.py) and the factory that makes and trains them (factory.py).

Importing it imports no method: a method's module is imported only when the method is made or trained.
"""

from redbench.methods.factory import TrainParams, create, provenance, train, train_params
from redbench.methods.protocol import BOX_PROTOCOLS, Method, Provenance, StaticMethod, TrainInfo
from redbench.methods.table import MethodSpec, get_method, method_table
from redbench.methods.tracking import track, tracking_box

__all__ = ["BOX_PROTOCOLS", "Method", "MethodSpec", "Provenance", "StaticMethod", "TrainInfo", "TrainParams",
           "create", "get_method", "method_table", "provenance", "track", "tracking_box", "train", "train_params"]
