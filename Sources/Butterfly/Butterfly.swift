import PixelflyCore
import LowRank
