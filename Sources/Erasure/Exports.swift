// Everything that encodes needs k and m: users of Erasure get them with it.
@_exported import CodeParameters
