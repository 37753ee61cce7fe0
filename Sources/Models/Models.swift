import PixelflyCore
import Butterfly
