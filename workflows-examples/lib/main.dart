import 'package:flutter/material.dart';

import 'config.dart';

Future<void> main() async {
  WidgetsFlutterBinding.ensureInitialized();
  Widget app;
  try {
    app = StorefrontApp(config: await AppConfig.load());
  } catch (error) {
    app = ConfigUnavailable(reason: error.toString());
  }
  runApp(app);
}

class StorefrontApp extends StatelessWidget {
  const StorefrontApp({super.key, required this.config});

  final AppConfig config;

  @override
  Widget build(BuildContext context) {
    return MaterialApp(
      title: 'Storefront',
      theme: ThemeData(colorSchemeSeed: Colors.indigo, useMaterial3: true),
      home: Scaffold(
        appBar: AppBar(title: const Text('Storefront')),
        body: ListView(
          children: [
            ListTile(title: const Text('Environment'), subtitle: Text(config.environment)),
            ListTile(title: const Text('API'), subtitle: Text(config.apiUrl.toString())),
            ListTile(title: const Text('Log level'), subtitle: Text(config.logLevel)),
            if (config.isEnabled('new-checkout'))
              Padding(
                padding: const EdgeInsets.all(16),
                child: FilledButton(
                  key: const Key('new-checkout'),
                  onPressed: () {},
                  child: const Text('Try the new checkout'),
                ),
              ),
          ],
        ),
      ),
    );
  }
}

/// Shown instead of the app when its configuration cannot be read.
class ConfigUnavailable extends StatelessWidget {
  const ConfigUnavailable({super.key, required this.reason});

  final String reason;

  @override
  Widget build(BuildContext context) {
    return MaterialApp(
      title: 'Storefront',
      home: Scaffold(
        body: Center(child: Text('Configuration unavailable: $reason')),
      ),
    );
  }
}
