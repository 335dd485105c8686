// pmetal host runtime: preprocessing stub; marks the translation unit as using MPP
namespace __pmetal_uses_mpp {}
