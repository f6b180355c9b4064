import AsyncHTTPClient
import Crypto
import JWTKit
import NIOHTTP1
import NIOPosix
