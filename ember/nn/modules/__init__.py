"""All nn modules (layout mirrors torch.nn.modules)."""
from .module import Module  # noqa: F401
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict  # noqa
from .linear import Identity, Linear, Bilinear  # noqa: F401
from .conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,  # noqa: F401
                   ConvTranspose3d)
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d,  # noqa
                      AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d)
from .activation import (Threshold, ReLU, ReLU6, Hardtanh, LeakyReLU, PReLU, ELU,  # noqa
                         SELU, CELU, GELU, SiLU, Mish, Sigmoid, Tanh, Softplus, Softsign,
                         Hardswish, Hardsigmoid, LogSigmoid, Softmax, LogSoftmax, Softmin, GLU,
                         Hardshrink, Softshrink, Tanhshrink)
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d,  # noqa
                            InstanceNorm2d, InstanceNorm3d, LayerNorm, GroupNorm, RMSNorm)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d  # noqa: F401
from .sparse import Embedding  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .padding import (ZeroPad1d, ZeroPad2d, ConstantPad1d, ConstantPad2d,  # noqa: F401
                      ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d,
                      ReplicationPad2d, CircularPad1d, CircularPad2d)
from .distance import PairwiseDistance, CosineSimilarity  # noqa: F401
from .pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401
from .upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d  # noqa: F401
from .loss import (L1Loss, MSELoss, SmoothL1Loss, HuberLoss, CrossEntropyLoss,  # noqa
                   NLLLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss, MarginRankingLoss,
                   HingeEmbeddingLoss, CosineEmbeddingLoss, TripletMarginLoss, SoftMarginLoss,
                   MultiLabelSoftMarginLoss, PoissonNLLLoss, GaussianNLLLoss)
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell  # noqa
from .attention import MultiheadAttention  # noqa: F401
from .transformer import (Transformer, TransformerEncoder, TransformerDecoder,  # noqa: F401
                          TransformerEncoderLayer, TransformerDecoderLayer)

__all__ = [n for n, v in dict(globals()).items() if isinstance(v, type) and n[:1].isupper()]
