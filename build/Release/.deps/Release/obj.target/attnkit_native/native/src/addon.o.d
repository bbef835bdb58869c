cmd_Release/obj.target/attnkit_native/native/src/addon.o := g++ -o Release/obj.target/attnkit_native/native/src/addon.o ../native/src/addon.cc '-DNAPI_VERSION=8' '-DNAPI_DISABLE_CPP_EXCEPTIONS' '-DNODE_GYP_MODULE_NAME=attnkit_native' '-DUSING_UV_SHARED=1' '-DUSING_V8_SHARED=1' '-DV8_DEPRECATION_WARNINGS=1' '-D_GLIBCXX_USE_CXX11_ABI=1' '-D_FILE_OFFSET_BITS=64' '-D_LARGEFILE_SOURCE' '-D__STDC_FORMAT_MACROS' '-DOPENSSL_NO_PINSHARED' '-DOPENSSL_THREADS' '-DBUILDING_NODE_EXTENSION' -I../node_modules/node-addon-api -I../native/src -I/usr/include/node -I/usr/src -I/usr/deps/openssl/config -I/usr/deps/openssl/openssl/include -I/usr/deps/uv/include -I/usr/deps/zlib -I/usr/deps/v8/include  -fPIC -pthread -Wall -Wextra -Wno-unused-parameter -m64 -O3 -fno-omit-frame-pointer -std=c++17 -O3 -fno-math-errno -fvisibility=hidden -fno-rtti -fPIC -MMD -MF ./Release/.deps/Release/obj.target/attnkit_native/native/src/addon.o.d.raw   -c
Release/obj.target/attnkit_native/native/src/addon.o: \
 ../native/src/addon.cc ../node_modules/node-addon-api/napi.h \
 /usr/include/node/node_api.h /usr/include/node/js_native_api.h \
 /usr/include/node/js_native_api_types.h \
 /usr/include/node/node_api_types.h \
 ../node_modules/node-addon-api/napi-inl.h \
 ../node_modules/node-addon-api/napi.h \
 ../node_modules/node-addon-api/napi-inl.deprecated.h \
 ../native/src/attention.h ../native/src/cpu.h ../native/src/gemm.h \
 ../native/src/kernels.h ../native/src/threadpool.h
../native/src/addon.cc:
../node_modules/node-addon-api/napi.h:
/usr/include/node/node_api.h:
/usr/include/node/js_native_api.h:
/usr/include/node/js_native_api_types.h:
/usr/include/node/node_api_types.h:
../node_modules/node-addon-api/napi-inl.h:
../node_modules/node-addon-api/napi.h:
../node_modules/node-addon-api/napi-inl.deprecated.h:
../native/src/attention.h:
../native/src/cpu.h:
../native/src/gemm.h:
../native/src/kernels.h:
../native/src/threadpool.h:
