import 'dart:io';

import 'package:flutter_test/flutter_test.dart';
import 'package:http/http.dart' as http;
import 'package:http/testing.dart';
import 'package:storefront_web/config.dart';

void main() {
  group('AppConfig.fromYaml', () {
    test('reads the API URL, log level and feature flags', () {
      final config = AppConfig.fromYaml('''
environment: staging
api-url: https://api.staging.example.com
log-level: info
features:
  new-checkout: true
  dark-mode: false
''');
      expect(config.environment, 'staging');
      expect(config.apiUrl, Uri.parse('https://api.staging.example.com'));
      expect(config.logLevel, 'info');
      expect(config.isEnabled('new-checkout'), isTrue);
      expect(config.isEnabled('dark-mode'), isFalse);
      expect(config.isEnabled('not-a-flag'), isFalse);
    });

    test('names the key that is wrong', () {
      expect(
        () => AppConfig.fromYaml('environment: dev\napi-url: http://api\nlog-level: info\n'),
        throwsA(isA<FormatException>().having((e) => e.message, 'message', contains('api-url'))),
      );
      expect(
        () => AppConfig.fromYaml(
            'environment: dev\napi-url: https://api.example.com\nlog-level: loud\n'),
        throwsA(isA<FormatException>().having((e) => e.message, 'message', contains('log-level'))),
      );
      expect(
        () => AppConfig.fromYaml(
            'environment: dev\napi-url: https://api.example.com\nlog-level: info\nfeatures: { beta: yes please }\n'),
        throwsA(isA<FormatException>().having((e) => e.message, 'message', contains('beta'))),
      );
    });
  });

  // The files the deploy ships: a broken one fails here, before any image is built.
  for (final environment in ['dev', 'test', 'staging', 'production']) {
    test('config/$environment.yaml is valid and says it is for $environment', () {
      final config = AppConfig.fromYaml(File('config/$environment.yaml').readAsStringSync());
      expect(config.environment, environment);
    });
  }

  test('load reads config/app.yaml beside the page', () async {
    Uri? asked;
    final client = MockClient((request) async {
      asked = request.url;
      return http.Response(
          'environment: dev\napi-url: https://api.dev.example.com\nlog-level: debug\n', 200);
    });

    final config =
        await AppConfig.load(client: client, page: Uri.parse('https://dev.example.com/index.html'));

    expect(asked, Uri.parse('https://dev.example.com/config/app.yaml'));
    expect(config.apiUrl.host, 'api.dev.example.com');
  });

  test('load fails when the config is missing, instead of guessing', () async {
    final client = MockClient((request) async => http.Response('not found', 404));

    await expectLater(
      AppConfig.load(client: client, page: Uri.parse('https://dev.example.com/')),
      throwsA(isA<StateError>()),
    );
  });
}
