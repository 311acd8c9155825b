package wire

// MaxLayerFileBytes bounds a cached layer's LayerFile (layer.json), read
// into memory: a descriptor lists each store path in about 100 bytes, so
// this allows a layer of over 100,000 store paths.
const MaxLayerFileBytes = 16 << 20
