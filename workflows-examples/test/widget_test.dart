import 'package:flutter/material.dart';
import 'package:flutter_test/flutter_test.dart';
import 'package:storefront_web/config.dart';
import 'package:storefront_web/main.dart';

AppConfig configWith({Map<String, bool> features = const {}}) => AppConfig(
      environment: 'staging',
      apiUrl: Uri.parse('https://api.staging.example.com'),
      logLevel: 'info',
      features: features,
    );

void main() {
  testWidgets('shows the environment and the API it talks to', (tester) async {
    await tester.pumpWidget(StorefrontApp(config: configWith()));

    expect(find.text('staging'), findsOneWidget);
    expect(find.text('https://api.staging.example.com'), findsOneWidget);
    expect(find.text('info'), findsOneWidget);
  });

  testWidgets('the new checkout shows only when its feature flag is on', (tester) async {
    await tester.pumpWidget(StorefrontApp(config: configWith()));
    expect(find.byKey(const Key('new-checkout')), findsNothing);

    await tester.pumpWidget(StorefrontApp(config: configWith(features: {'new-checkout': true})));
    expect(find.byKey(const Key('new-checkout')), findsOneWidget);
  });

  testWidgets('says so when the configuration cannot be read', (tester) async {
    await tester.pumpWidget(const ConfigUnavailable(reason: 'GET config/app.yaml answered 404'));

    expect(find.textContaining('answered 404'), findsOneWidget);
  });
}
