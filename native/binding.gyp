{
  "targets": [
    {
      "target_name": "pmetal_native",
      "sources": [
        "addon/module.cc", "addon/js_error.cc", "addon/args.cc", "addon/buffer_wrap.cc", "addon/library_wrap.cc",
        "addon/device_wrap.cc", "addon/dispatch_args.cc", "addon/workers.cc", "addon/chip.cc"
      ],
      "include_dirs": [".", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-frtti"],
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "host/device/device.cc", "host/device/buffer.cc", "host/device/library.cc", "host/device/dispatch.cc",
            "host/compile/toolchain.cc", "host/compile/artifacts.cc", "host/compile/compile.cc",
            "host/rewrite/lexer.cc", "host/rewrite/structure.cc", "host/rewrite/constants.cc",
            "host/rewrite/kernels.cc", "host/rewrite/tokens.cc", "host/rewrite/emit.cc",
            "host/asan/client.cc", "host/sys/fs.cc", "host/sys/process.cc"
          ],
          "defines": ["PMETAL_NATIVE_DIR=\"<(module_root_dir)\""],
          "libraries": ["-ldl", "-lpthread"]
        }],
        ["OS=='mac'", {
          "sources": ["addon/metal/device.mm", "addon/metal/library.mm", "addon/metal/inline_includes.cc"],
          "link_settings": {
            "libraries": ["$(SDKROOT)/System/Library/Frameworks/Metal.framework",
                          "$(SDKROOT)/System/Library/Frameworks/Foundation.framework"]
          },
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_ENABLE_CPP_RTTI": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "CLANG_ENABLE_OBJC_ARC": "YES",
            "MACOSX_DEPLOYMENT_TARGET": "13.0",
            "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-fobjc-arc"]
          }
        }]
      ]
    }
  ]
}
